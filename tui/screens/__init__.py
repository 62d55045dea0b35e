"""Screens of the full-screen app: help, conversation picker, tool approval."""

"""easytune_core.eval"""

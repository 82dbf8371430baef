"""easytune_core.text"""

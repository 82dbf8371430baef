"""easytune_core.render"""

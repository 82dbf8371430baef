"""easytune_core.data"""

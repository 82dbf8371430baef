"""easytune_core.reward"""

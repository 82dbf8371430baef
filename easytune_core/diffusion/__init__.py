"""easytune_core.diffusion"""

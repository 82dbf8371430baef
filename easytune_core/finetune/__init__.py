"""easytune_core.finetune"""

"""recordings_policy"""

"""hotline/stack"""

"""hotline/db"""

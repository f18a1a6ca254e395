"""telephony/agi"""

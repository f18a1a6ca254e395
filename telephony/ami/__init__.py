"""telephony/ami"""

"""telephony/sipp"""

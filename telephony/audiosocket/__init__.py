"""telephony/audiosocket"""

"""callback_queue"""

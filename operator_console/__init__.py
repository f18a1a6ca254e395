"""operator_console"""

"""Callback orders (обратный звонок): filled in by the hotline IVR issue.

Orders from the IVR and the website, their lifecycle in the database, the live queue and locks
in Redis, executed by the controller in callback hours.
"""

"""Recordings policy: disclosure guaranteed, 60-day retention, legal hold, audited access.

Today: the dialplan records every hotline call with MixMonitor from the answer, after which the
disclosure is played; files are laid out as <recordings>/YYYY/MM/DD/<uniqueid>.wav (UTC dates)
and the path is kept in the call's record. Retention, purge and access control come with the
recordings-policy issue.
"""

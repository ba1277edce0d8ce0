"""The customer list and everything about one customer: filters and their SQL,
the customer page, merge, groups by visit count, and the hourly visit rollup.
"""

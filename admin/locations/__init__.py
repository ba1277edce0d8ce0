"""A venue's locations and what runs there: location pages, routers (pages and CLI),
guest-page settings and their live preview, vouchers and their PDF, the logo.
"""

"""Customer lists in and out: imports, exports, background jobs and their worker,
the Downloads page, and `porchlight admin import|export`.
"""

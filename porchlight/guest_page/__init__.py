"""The guest page: the login form's rules, its texts and its HTML, shared by the
portal (what phones get) and the admin's live preview (what a manager edits)."""

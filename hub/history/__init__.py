"""Revisions: every change of an entry or of a registry fact keeps who made it, when, through
which action, in which language, and the values it replaced.

A revision stores only the old values of the fields its change touched (an undo log): the row
itself is the newest state, and the new value of a field in a revision is the old value the next
revision touching that field keeps, or the current value. A creation stores nothing but the
action. This package sits below publishing and the registry and imports neither: what a field
is, and its current value, is the caller's to say.
"""

"""The catalog and what keeps it safe: schema and migrations, roots, vectors, the undo
journal, backups, missing photos, the trash, photo fields (rating, caption...).
"""

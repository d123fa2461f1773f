"""Certificates the bank issues, and their verification by anyone.

A learner requests a certificate (:mod:`.issuing`); a worker renders it: it builds the *content*
(:mod:`.content`, the canonical payload), signs it with the bank's Ed25519 key (:mod:`.signing`),
writes the W3C Verifiable Credential 2.0 form beside it (:mod:`.credential`: an Open Badges 3.0
AchievementCredential or a CLR 2.0 ClrCredential, checked by the 1EdTech JSON Schemas of
``schemas/``; its
``eddsa-rdfc-2022`` proof and the bank's ``did:web`` document in :mod:`.linked_data`, its
revocation bit in :mod:`.status_list`) and
renders the PDF (:mod:`.pdf`), which prints the signature and carries the content and signature
as an embedded file for offline checks.

Anyone checks a certificate by its serial (:mod:`.verification`): genuine (the signature holds
over the stored content), current or revoked (an accreditation it relied on has been revoked
since), and only what the learner chose to disclose. The public key is published
(:func:`.signing.signing_key_public`), so a downloaded PDF or JSON can be checked offline
(:func:`.verification.signed_document_check`, ``manage.py verify_certificate``).

Import from the module that does the thing; this package re-exports nothing.
"""

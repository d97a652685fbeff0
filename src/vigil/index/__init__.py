"""Match indexes: exact digests, PDQ range search, vPDQ frames; compiled per list and cached.

    from vigil.index.pdq import PdqIndex
    index, order = PdqIndex.build(bits)         # (N, 32) uint8 hashes
    found = index.search(queries, radius=31)    # every listed hash within 31 bits, exactly
"""

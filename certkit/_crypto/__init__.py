"""Encodings and cryptography certkit carries itself, below everything else.

One bounded ASN.1 reader and the PEM block splitter, password-based encryption and KDFs,
the Java key-protection schemes, Twofish for UBER stores, and private-key encodings. These
modules import nothing from certkit but :mod:`certkit.errors`.
"""

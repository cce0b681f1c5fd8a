"""Operations: plain functions over the model (load/dump/save, chains, matching, keystore
edits, backup, export, remote checks, doctor, scan); :mod:`certkit` re-exports them."""

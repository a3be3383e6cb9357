"""Dataset builders: the embedded synthetic one-shots (:mod:`.synthetic`), real data from Debian
packages (:mod:`.debian`) and the CSV manifests they write (:mod:`.manifest`)."""

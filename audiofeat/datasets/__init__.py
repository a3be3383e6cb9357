"""Dataset builders: the embedded synthetic one-shots (:mod:`.synthetic`), real data from Debian
packages (:mod:`.debian`), the CSV manifests they write (:mod:`.manifest`) and the taxonomies
that map their labels onto training labels (:mod:`.taxonomy`)."""

from __future__ import annotations

import pytest
import torch

from audiofeat.discovery import discover, inputs_digest
from audiofeat.exceptions import ParameterError
from audiofeat.labels import LabelVocabulary, split_label


def test_split_label():
    assert split_label("drums/kick/808") == ("drums", "drums/kick")
    assert split_label("fx") == ("fx", "fx")
    assert split_label(" bass/sub/ ") == ("bass", "bass/sub")
    with pytest.raises(ParameterError, match="label"):
        split_label("//")


def test_vocabulary_indices_and_one_hot_match_the_documented_example():
    vocab = LabelVocabulary.from_labels(["drums/snare", "bass/sub", "drums/kick/808", "drums/kick"])
    assert vocab.classes == ("bass", "drums")
    assert vocab.subclasses == ("bass/sub", "drums/kick", "drums/snare")
    assert vocab.c_dim == 5
    assert vocab.encode("drums/snare") == (1, 2)
    assert vocab.vectors(["drums/snare"]).tolist() == [[0, 1, 0, 0, 1]]
    assert vocab.encode("drums/kick/808/extra") == (1, 1)
    assert vocab.subclass_to_class() == [0, 1, 1]
    assert vocab.decode(0) == "bass/sub"
    batch = vocab.one_hot(torch.tensor([0, 1]), torch.tensor([0, 2]))
    assert batch.shape == (2, 5) and batch.dtype == torch.float32 and batch.sum(1).tolist() == [2, 2]
    assert LabelVocabulary.from_dict(vocab.to_dict()) == vocab


def test_genre_part_follows_class_and_subclass_and_is_zero_without_a_genre():
    vocab = LabelVocabulary.from_labels(["drums/snare", "bass/sub", "drums/kick"]).with_genres(
        ["electronic", "", "acoustic", "electronic"])
    assert vocab.genres == ("acoustic", "electronic") and vocab.c_dim == 7
    assert vocab.vectors(["drums/snare"], ["electronic"]).tolist() == [[0, 1, 0, 0, 1, 0, 1]]  # the docstring's
    assert vocab.vectors(["drums/snare", "bass/sub"], ["", "acoustic"]).tolist() == [[0, 1, 0, 0, 1, 0, 0],
                                                                                    [1, 0, 1, 0, 0, 1, 0]]
    assert vocab.vectors(["drums/kick"]).tolist() == [[0, 1, 0, 1, 0, 0, 0]]  # no genres given: none
    assert vocab.genre_index(["acoustic", ""]).tolist() == [0, -1]
    with pytest.raises(ParameterError, match="unknown genre.*world; known: acoustic, electronic"):
        vocab.genre_index(["world"])
    assert LabelVocabulary.from_dict(vocab.to_dict()) == vocab
    plain = LabelVocabulary.from_labels(["drums/kick"])
    assert "genres" not in plain.to_dict() and plain.with_genres([""]).c_dim == plain.c_dim == 2


def test_unknown_labels_list_the_vocabulary():
    vocab = LabelVocabulary.from_labels(["drums/kick"])
    with pytest.raises(ParameterError, match="unknown class 'bass'.*known: drums"):
        vocab.encode("bass/sub")
    with pytest.raises(ParameterError, match="unknown subclass 'drums/snare'.*known: drums/kick"):
        vocab.encode("drums/snare")
    with pytest.raises(ParameterError, match="1-D"):
        vocab.one_hot([0, 0], [0])


def test_discover_folder_tree(tmp_path):
    for name in ["drums/kick/a.wav", "drums/kick/808/b.flac", "fx/c.ogg", "top.wav", "drums/notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    sources, skipped = discover(tmp_path)
    assert [(s.name, s.label) for s in sources] == [
        ("drums/kick/808/b.flac", "drums/kick/808"), ("drums/kick/a.wav", "drums/kick"), ("fx/c.ogg", "fx")]
    assert skipped == [("top.wav", "not inside a class folder, so it has no label")]
    digest = inputs_digest(sources)
    assert digest == inputs_digest(sources)
    (tmp_path / "fx/c.ogg").write_bytes(b"changed")
    assert inputs_digest(sources) != digest


def test_discover_manifest(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,licence\nsub/a.wav,drums/kick,CC0\n/abs/b.wav,bass,GPL\n,x/y,\nc.wav,,MIT\n")
    sources, skipped = discover(manifest)
    assert [(s.name, str(s.path), s.label, s.meta) for s in sources] == [
        ("/abs/b.wav", "/abs/b.wav", "bass", {"licence": "GPL"}),
        ("sub/a.wav", str(tmp_path / "sub/a.wav"), "drums/kick", {"licence": "CC0"})]
    assert skipped == [("m.csv:4", "empty path"), ("c.wav", "empty label on line 5 of m.csv")]
    manifest.write_text("path,label\na.wav,x/y\na.wav,x/z\n")
    with pytest.raises(ParameterError, match="more than once: a.wav"):
        discover(manifest)
    for bad in ("../..", "/drums//kick/", "a,b", "drums/../kick", "drums/ kick"):
        manifest.write_text(f'path,label\na.wav,x/y\nb.wav,"{bad}"\n')
        with pytest.raises(ParameterError, match=r"m.csv: line 3 \(b.wav\): label must look like"):
            discover(manifest)


def test_discover_errors(tmp_path):
    with pytest.raises(ParameterError, match="must be a folder of audio files or a .csv manifest"):
        discover(tmp_path / "missing")
    with pytest.raises(ParameterError, match="no labelled audio"):
        discover(tmp_path)

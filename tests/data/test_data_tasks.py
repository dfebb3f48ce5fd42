"""Generated tasks: fixed layout, seeded, no question shared by train and test; Vocab; batching."""

import numpy as np
import pytest

from tinygrad_attn import data as D


def _questions(x):
    return {tuple(r) for r in x.tolist()}


@pytest.mark.parametrize(
    "make",
    [
        lambda s: D.addition(600, 200, seed=s),
        lambda s: D.addition(90, 10, digits=1, seed=s),  # the whole space: 100 questions
        lambda s: D.dates(600, 200, seed=s),
        lambda s: D.reversal(600, 200, seed=s),
        lambda s: D.recall(8, 600, 200, seed=s),
    ],
)
def test_no_question_in_both_train_and_test(make):
    d = make(3)
    train, test = _questions(d.x_train), _questions(d.x_test)
    assert len(train) == len(d.x_train) and len(test) == len(d.x_test)  # no duplicates inside either
    assert not train & test
    assert (d.t_train[:, 0] == d.vocab.start_id).all() and (d.t_test[:, 0] == d.vocab.start_id).all()


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = D.dates(50, 10, seed=1), D.dates(50, 10, seed=1), D.dates(50, 10, seed=2)
    assert (a.x_train == b.x_train).all() and (a.t_test == b.t_test).all()
    assert a.x_train.shape != c.x_train.shape or (a.x_train != c.x_train).any()


def test_addition_answers_are_sums():
    d = D.addition(300, 50, seed=0)
    for x, t in zip(d.x_train, d.t_train):
        q, a = d.vocab.decode(x), d.vocab.decode(t)
        left, right = q.split("+")
        assert a[0] == "_" and int(a[1:]) == int(left) + int(right)
    assert d.x_train.shape[1] == 7 and d.t_train.shape[1] == 5  # the book's widths


def test_dates_styles_and_iso_answers():
    import datetime

    d = D.dates(2000, 10, seed=0)
    qs = {d.vocab.decode(x).strip() for x in d.x_train}
    assert any("/" in q for q in qs) and any(q.isupper() for q in qs) and any("," in q for q in qs)
    for t in d.t_train[:200]:
        iso = d.vocab.decode(t)[1:]
        assert datetime.date.fromisoformat(iso).isoformat() == iso


def test_dates_question_names_one_date():
    """The same question text never comes with two different answers."""
    d = D.dates(3000, 10, seed=5)
    seen = {}
    for x, t in zip(d.x_train, d.t_train):
        assert seen.setdefault(tuple(x), tuple(t)) == tuple(t)


def test_reversal_and_recall_answers():
    r = D.reversal(100, 10, seed=0)
    for x, t in zip(r.x_train, r.t_train):
        assert r.vocab.decode(t)[1:].rstrip() == r.vocab.decode(x).rstrip()[::-1]
    k = D.recall(6, 100, 10, seed=0)
    assert k.x_train.shape == (100, 7) and k.t_train.shape == (100, 2)
    for x, t in zip(k.x_train, k.t_train):
        q = k.vocab.decode(x)
        assert q[0].isupper() and q[-1] == "?" and q[1:-1].islower() and k.vocab.decode(t) == "_" + q[0]


def test_generators_refuse_impossible_requests():
    with pytest.raises(ValueError, match="distinct"):
        D.addition(95, 10, digits=1)
    with pytest.raises(ValueError, match="distance"):
        D.recall(2, 150, 50, names="AB", filler="xyz")
    with pytest.raises(ValueError):
        D.recall(0)


def test_vocab_round_trip_and_specials():
    v = D.Vocab("ab")
    assert len(v) == 2 and v.encode("ba").tolist() == [1, 0]
    assert v.pad_id == 2 and v.start_id == 3 and v.decode([3, 0, 1, 2]) == "_ab "
    assert v.encode_batch(["a", "ab"]).tolist() == [[0, 2], [0, 1]]
    with pytest.raises(KeyError, match="'z'"):
        v.encode("z")
    with pytest.raises(ValueError):
        D.Vocab(pad="_", start="_")


def test_batches_cover_every_row_once():
    x = np.arange(10).reshape(10, 1)
    t = x * 2
    seen = []
    for xb, tb in D.batches(x, t, batch_size=3, rng=np.random.default_rng(0)):
        assert (tb == 2 * xb).all() and len(xb) <= 3
        seen += xb[:, 0].tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert len(list(D.batches(x, t, 3, drop_last=True))) == D.num_batches(10, 3, drop_last=True) == 3
    with pytest.raises(ValueError):
        next(D.batches(x, t[:5], 3))


def test_reversed_flips_questions_only():
    d = D.addition(20, 5, seed=0)
    r = d.reversed()
    assert (r.x_train == d.x_train[:, ::-1]).all() and (r.t_train == d.t_train).all()

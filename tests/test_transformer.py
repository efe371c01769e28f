"""The tiny transformer: causality, exact log-probabilities, sampling, pre-training."""

import numpy as np
import pytest
import torch

from straw import transformer
from straw.tokens import CombinationLock, RunningSum

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_model(task, **kwargs):
    return transformer.TinyLM(transformer.LMConfig.for_task(task, n_layer=1, n_embd=32, **kwargs))


def test_log_probs_of_every_answer_sum_to_one():
    task = RunningSum(3, 3)
    model = small_model(task)
    answers = task.all_answers()
    prompts = np.tile([[2, 0, 1]], (len(answers), 1))
    with torch.no_grad():
        log_probs = transformer.token_log_probs(model, prompts, answers).sum(dim=1)
    assert torch.exp(log_probs).sum().item() == pytest.approx(1.0, abs=1e-5)


def test_attention_is_causal():
    task = CombinationLock(6, 5)
    model = small_model(task)
    idx = torch.tensor([[6, 1, 2, 3, 4], [6, 1, 2, 5, 0]])
    with torch.no_grad():
        logits = model(idx)
    assert torch.allclose(logits[0, :3], logits[1, :3], atol=1e-6)
    assert not torch.allclose(logits[0, 3], logits[1, 3])


def test_next_token_probs_agree_with_log_probs():
    task = RunningSum(4, 3)
    model = small_model(task)
    prompt = [1, 2, 3]
    answer = [1, 3, 2]
    with torch.no_grad():
        expected = transformer.token_log_probs(model, [prompt], [answer]).exp()[0]
    prefixes = [tuple(answer[:t]) for t in range(3)]
    probs = transformer.next_token_probs(model, [prompt] * 3, prefixes)
    assert probs.sum(axis=1) == pytest.approx(np.ones(3))
    got = probs[np.arange(3), answer]
    assert got == pytest.approx(expected.numpy(), rel=1e-5)


def test_sampling_is_seeded_and_temperature_zero_is_greedy():
    task = CombinationLock(5, 4)
    model = small_model(task)
    prompts = np.zeros((50, 0), dtype=np.int64)
    a = transformer.sample(model, prompts, 4, generator=torch.Generator().manual_seed(1))
    b = transformer.sample(model, prompts, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (50, 4) and (a >= 0).all() and (a < 5).all()
    greedy = transformer.sample(model, prompts[:2], 4, temperature=0)
    probs = transformer.next_token_probs(model, prompts[:1], [()])
    assert greedy[0, 0].item() == int(np.argmax(probs[0]))
    assert torch.equal(greedy[0], greedy[1])


def test_sampling_frequencies_match_the_model():
    task = CombinationLock(3, 1)
    model = small_model(task, seed=3)
    prompts = np.zeros((6000, 0), dtype=np.int64)
    tokens = transformer.sample(model, prompts, 1, temperature=0.5, generator=torch.Generator())
    freq = np.bincount(tokens[:, 0].numpy(), minlength=3) / 6000
    probs = transformer.next_token_probs(model, prompts[:1], [()], temperature=0.5)[0]
    assert np.abs(freq - probs).max() < 4 * np.sqrt(0.25 / 6000)


def test_pretraining_on_noisy_demonstrations_gives_a_small_success_rate():
    torch.manual_seed(0)
    task = CombinationLock(6, 4, seed=2)
    model = small_model(task)
    losses = transformer.pretrain(model, task, steps=40, corruption=0.5, batch_size=32, lr=2e-2)
    assert losses[-1] < losses[0]
    answers = transformer.sample(
        model, np.zeros((2000, 0), np.int64), 4, generator=torch.Generator()
    )
    success = task.outcome(np.zeros((2000, 0)), answers.numpy()).mean()
    # A noisy demonstrator writes the right token with p = 0.5 + 0.5 / 6; p^4 ~ 0.13.
    assert 0.03 < success < 0.4


def test_bad_input_is_refused():
    task = CombinationLock(5, 3)
    model = small_model(task)
    with pytest.raises(ValueError, match="token id 5 is outside the vocabulary 0..4"):
        transformer.token_log_probs(model, np.zeros((1, 0), np.int64), [[0, 5, 1]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        transformer.next_token_probs(model, np.zeros((1, 0), np.int64), [(9,)])
    with pytest.raises(ValueError, match="at most 128"):
        transformer.LMConfig(vocab=5, context=3, n_embd=256)
    with pytest.raises(ValueError, match="exceeds the context"):
        model(torch.zeros((1, 9), dtype=torch.long))
    with pytest.raises(ValueError, match="no value head"):
        model.value(torch.zeros((1, 2), dtype=torch.long))
    valued = small_model(task, value_head=True)
    assert valued.value(torch.zeros((2, 3), dtype=torch.long)).shape == (2, 3)

"""Language models after training: sampling text, greedy completion, and their metrics.

sample_text(trained, prompt, length, temperature, top_k, seed) -> iterator of characters
complete(trained, prompts, max_new, stop) -> greedy continuations, batched
language_report(loss) -> loss, perplexity, bits per character
exact_match(trained, a, b) -> fraction of "a+b=" completed with the right sum
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from backprop_cli.data.meta import is_text_model
from backprop_cli.data.text import encode
from backprop_cli.errors import UserError
from backprop_cli.limits import TEMPERATURE_RANGE


def vocabulary_and_context(trained) -> tuple[list[str], int]:
    """The model's characters and how many it reads at once; a model of other data is the user's error."""
    meta = trained.data_meta
    if not is_text_model(meta):
        raise UserError(
            f"was trained on {meta.get('source', 'other data')}, not on text: it has no characters to generate",
            where=str(trained.path),
            fix="generate from a run trained with text data (data.format: text, shakespeare or additions)",
        )
    return list(meta["class_names"]), int(meta["input_shape"][0])


def last_step_logits(trained, ids: np.ndarray) -> np.ndarray:
    """float64 (B, V): the scores of the next character after each row of ids (B, <= context)."""
    return np.asarray(trained.model.forward(ids, training=False)[:, :, -1], dtype=np.float64)


def check_prompt(prompt: str, vocab: list[str], context: int) -> np.ndarray:
    if not prompt:
        raise UserError(
            "the prompt is empty", where="--prompt", fix="give at least one character, e.g. --prompt 'The '"
        )
    if len(prompt) > context:
        raise UserError(
            f"the prompt has {len(prompt)} characters, but this model reads at most {context} (its data.context)",
            where="--prompt",
            fix=f"shorten it to its last {context} characters",
        )
    return encode(prompt, vocab, "--prompt")


def next_id(logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> int:
    """Sample from softmax(logits / temperature) over the top_k scores; temperature 0 takes the argmax."""
    if temperature == 0.0:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k is not None and top_k < len(z):
        z = np.where(z >= np.partition(z, -top_k)[-top_k], z, -np.inf)  # ties at the cut stay in
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample_text(
    trained, prompt: str, length: int, temperature: float = 1.0, top_k: int | None = None, seed: int = 0
) -> Iterator[str]:
    """`length` characters after the prompt, one at a time; the same seed gives the same text.

    The model reads the last `context` characters: the window slides once the text outgrows it.
    Bad arguments fail here, before the first character (the characters come lazily).
    """
    vocab, context = vocabulary_and_context(trained)
    low, high = TEMPERATURE_RANGE
    if temperature != 0 and not low <= temperature <= high:  # NaN fails both; beyond, logits / T overflows
        raise UserError(
            f"temperature must be >= 0: 0, or from {low:g} to {high:g} (got {temperature})",
            where="--temperature",
            fix="e.g. 0.8",
        )
    if top_k is not None and not 1 <= top_k:
        raise UserError(f"top-k must be at least 1 (got {top_k})", where="--top-k")
    ids = list(check_prompt(prompt, vocab, context))
    return _samples(trained, ids, context, vocab, length, temperature, top_k, np.random.default_rng(seed))


def _samples(trained, ids, context, vocab, length, temperature, top_k, rng) -> Iterator[str]:
    for _ in range(length):
        window = np.array(ids[-context:], dtype=np.int64)[None, :]  # (1, <= context)
        ids.append(next_id(last_step_logits(trained, window)[0], temperature, top_k, rng))
        yield vocab[ids[-1]]


def complete(trained, prompts: list[str], max_new: int, stop: str = "\n") -> list[str]:
    """The greedy continuation of each prompt up to `stop` (excluded) or max_new characters, batched by length."""
    vocab, context = vocabulary_and_context(trained)
    results: list[str] = [""] * len(prompts)
    by_length: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        by_length.setdefault(len(prompt), []).append(i)
    for length, rows in by_length.items():
        ids = np.stack([check_prompt(prompts[i], vocab, context) for i in rows])  # (B, Lp)
        for _ in range(max_new):
            nxt = np.argmax(last_step_logits(trained, ids[:, -context:]), axis=1)  # (B,)
            ids = np.concatenate([ids, nxt[:, None]], axis=1)
        for row, i in zip(ids[:, length:], rows):
            results[i] = "".join(vocab[int(t)] for t in row).split(stop)[0]
    return results


def language_report(loss: float) -> dict:
    """The mean next-character loss (nats) as perplexity exp(loss) and bits per character loss / ln 2."""
    return {"perplexity": math.exp(min(loss, 700.0)), "bits_per_char": loss / math.log(2.0)}


def exact_match(trained, a: np.ndarray, b: np.ndarray) -> dict:
    """Complete "\\na+b=" greedily for each problem: the fraction whose answer is exactly a + b."""
    prompts = [f"\n{x}+{y}=" for x, y in zip(a.tolist(), b.tolist())]
    digits = len(str(int(a.max()) + int(b.max()))) if len(a) else 1
    answers = complete(trained, prompts, max_new=digits + 1)
    right = [ans == str(x + y) for ans, x, y in zip(answers, a.tolist(), b.tolist())]
    wrong = [f"{p.strip()}{ans}" for p, ans, ok in zip(prompts, answers, right) if not ok]
    return {"exact_match": float(np.mean(right)) if right else 0.0, "problems": len(right), "wrong_examples": wrong[:5]}

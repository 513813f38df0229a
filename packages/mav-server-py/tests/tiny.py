"""A tiny randomly initialised GPT-2 with a tokenizer made locally: no download, built in a second.

The tests run it through the same registry and torch engine as real models, which proves the
transformers forward (GPT-2, the seed project's default architecture) without shipping GPT-2's weights.
"""

from __future__ import annotations

from typing import Any

from mav_server.engines import ModelSource

TINY_GPT2_ID = "tiny-gpt2"

CORPUS = [
    "Hello world, hello there. The quick brown fox jumps over the lazy dog.",
    "Once upon a time, in a small village, there lived a curious child.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000. Punctuation: ! ? ; : - ( ) [ ] { }",
    "Café, naïve, déjà vu, 日本語のテキスト, emoji 🚀✨ and more text.",
    "def main():\n    print('hello')\n",
]


def build_tokenizer(vocab_size: int = 400) -> Any:
    """A byte-level BPE trained on a few sentences, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )


def build_tiny_gpt2(
    n_layer: int = 2, n_head: int = 2, n_embd: int = 32, n_positions: int = 256, seed: int = 0
):
    """`(model, tokenizer)`: a GPT2LMHeadModel with random weights (eager attention) and its tokenizer."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_tokenizer()
    config = GPT2Config(
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        n_positions=n_positions,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        architectures=["GPT2LMHeadModel"],
    )
    config._attn_implementation = "eager"
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = GPT2LMHeadModel(config).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    return model, tokenizer


def tiny_gpt2_source(model_id: str = TINY_GPT2_ID, **kwargs: Any) -> ModelSource:
    return ModelSource(
        model_id, f"Tiny GPT-2 ({model_id}, random weights)", build=lambda: build_tiny_gpt2(**kwargs)
    )

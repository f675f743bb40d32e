"""How the customer says it (pure): urgency in their words, and a concern about us.

Small rules per language (English, German, Spanish, which we ship, and French, Italian, Dutch),
each matched against one sentence of what the customer wrote this time. A rule names a state of
things ("production is down", "none of our users can log in", "data loss", "URGENT") or a feeling
about us ("very disappointed", "worried about our future with your company", "considering other
vendors"); a negation just before it ("not urgent", "no rush") unsays urgency. Measured on the
labelled sentences of ``tests/data/tone.toml`` (the README's table, ``python -m tests.tone``).
The sentence that shows it is returned, so the SE reads why.
"""

from __future__ import annotations

import re

_URGENT = re.compile(
    r"\burgent\b|\burgently\b|\basap\b|\bemergency\b|\bcritical\b|\bsev(?:erity)?[ -]?1\b|"
    r"\bp1\b|\b(?:production|prod|live (?:system|site)|our (?:site|shop|system|service|"
    r"platform|website)|everything|the (?:whole )?system|the service|the platform)\b.{0,30}"
    r"\b(?:is |are |went |has gone |goes )?(?:down|offline|unavailable|unreachable|broken|"
    r"not working|crashed|stopped)\b|\boutage\b|\b(?:none|no one|nobody|no) (?:of )?(?:our |the )?"
    r"(?:users?|customers?|staff|employees|one)\b.{0,30}\b(?:can(?:not|'t)?|could(?:n't| not)?|"
    r"able to)\b|\b(?:can(?:not|'t)|unable to) (?:log ?in|sign in|access|login)\b.{0,40}"
    r"\b(?:all|any|anyone|everyone|users?)\b|\bdata loss\b|\b(?:lost|losing|deleted|corrupted)"
    r" (?:all )?(?:of )?(?:our |the )?(?:customer )?data\b|"
    r"\b(?:nobody|no one)\b.{0,30}\bcan(?:not|'t)? (?:log ?in|sign in|access|work|use)\b|"
    r"\blosing (?:money|revenue|orders|sales|customers)\b|"
    r"\bcannot (?:take|process|ship) (?:any )?(?:orders|payments)\b|\bdeadline (?:is )?"
    r"(?:today|tomorrow)\b|\bdringend\b|\beilig\b|\bausfall\b|\b(?:produktion|system|server|"
    r"shop|seite) (?:ist |steht )?(?:down|ausgefallen|nicht erreichbar)\b|\bdatenverlust\b|"
    r"\bniemand kann\b|\burgente\b|\bcaído\b|\bcaida del servicio\b|\bpérdida de datos\b|"
    r"\bnadie puede\b|\bimmédiatement\b|\ben panne\b|\bpersonne ne peut\b|\bperte de données\b|"
    r"\burgentissimo\b|\bfuori servizio\b|\bnessuno (?:può|riesce)\b|\bspoed\b|\bstoring\b|"
    r"\bniemand kan\b",
    re.IGNORECASE,
)
_CALM = re.compile(
    r"\b(?:not|no|nicht|kein|nada|pas|non|niet) (?:(?:very|so|that|really|sehr|muy|très|molto|"
    r"erg) )?(?:urgent|urgente|dringend|critical|a rush|rush|hurry|eilig|prisa|spoed)\b|"
    r"\bno rush\b|\bwhenever you (?:can|have time)\b|\bkeine eile\b|\bsin prisa\b|"
    r"\bpas pressé\b|\bnessuna fretta\b|\bgeen haast\b|\blow priority\b",
    re.IGNORECASE,
)
_CONCERN = re.compile(
    r"\b(?:very |extremely |really |deeply |quite )?(?:disappointed|dissatisfied|unhappy|"
    r"frustrated|fed up|upset|annoyed|angry)\b|\bunacceptable\b|\bnot acceptable\b|"
    r"\b(?:formal )?complaint\b|\bcomplain\b|\bworried about (?:our|the) (?:future|relationship|"
    r"partnership)\b|\b(?:consider(?:ing)?|look(?:ing)? (?:at|for)|evaluat(?:e|ing)|switch(?:ing)?"
    r" to|mov(?:e|ing) to) (?:other|another|alternative|a different) (?:vendors?|suppliers?|"
    r"providers?|solutions?|products?)\b|\b(?:cancel|terminate|end|not renew) (?:our |the )?"
    r"(?:contract|subscription|licen[cs]e|account)\b|\blose (?:our|us as a) (?:business|"
    r"customer)\b|\b(?:escalate|escalating) (?:this )?to (?:your )?(?:management|manager|ceo)\b|"
    r"\b(?:terrible|awful|appalling|horrible|poor|worst) (?:service|support|experience|"
    r"response)\b|\bthird time\b|\bstill (?:no|not|waiting)\b.{0,30}\b(?:answer|reply|response|"
    r"fix)\b|\benttäuscht\b|\bunzufrieden\b|\binakzeptabel\b|\bbeschwerde\b|\bverärgert\b|"
    r"\bandere(?:n)? anbieter\b|\bkündigen\b|\bdecepcionad[oa]s?\b|\binsatisfech[oa]s?\b|"
    r"\binaceptable\b|\bqueja\b|\botro proveedor\b|\bcancelar (?:el|nuestro) contrato\b|"
    r"\bdéçu(?:e|s)?\b|\binacceptable\b|\bréclamation\b|\bautre fournisseur\b|\bdeluso\b|"
    r"\binaccettabile\b|\breclamo\b|\baltro fornitore\b|\bteleurgesteld\b|\bonacceptabel\b|"
    r"\bklacht\b|\bandere leverancier\b",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+|\n{2,}")
_MAX = 200


def urgency(subject: str, text: str) -> str:
    """The sentence (or the subject) that shows the customer's matter is urgent; '' if none."""
    for sentence in (subject, *_sentences(text)):
        if _URGENT.search(sentence) and not _CALM.search(sentence):
            return _cut(sentence)
    return ""


def concern(text: str) -> str:
    """The sentence that shows the customer is unhappy with us; '' if none."""
    for sentence in _sentences(text):
        if _CONCERN.search(sentence):
            return _cut(sentence)
    return ""


def _sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SENTENCES.split(text) if s.strip()]


def _cut(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= _MAX else sentence[: _MAX - 1].rstrip() + "\u2026"

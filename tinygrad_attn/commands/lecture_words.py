"""The words inside the lecture's pictures (titles, axes, legends, node captions), in English and Korean.

`word(key, lang, **fields)` returns one string filled with `fields`. No string here mixes
mathtext with Hangul (matplotlib's mathtext has no Hangul glyphs): formulas sit on lines of
their own, written once for both languages in the figure code.
"""

from __future__ import annotations

WORDS = {
    # 6-2
    "6-2.step.title": {"en": "Figure 6-2: one step of the RNN layer", "ko": "그림 6-2: RNN 계층의 한 스텝"},
    "6-2.unrolled.title": {
        "en": "Figure 6-2: the RNN layer unrolled over T = {T} steps, L = sum(h_{T})",
        "ko": "그림 6-2: T = {T} 스텝으로 펼친 RNN 계층, L = sum(h_{T})",
    },
    "grad.bar": {
        "en": "||dL/d·|| that reached the node (log scale)",
        "ko": "노드에 도달한 기울기 ||dL/d·|| (로그 눈금)",
    },
    "grad.bar.word": {
        "en": "||dL/dx_t|| that reached the word (log scale)",
        "ko": "단어에 도달한 기울기 ||dL/dx_t|| (로그 눈금)",
    },
    # 6-4
    "6-4.title": {
        "en": "Figure 6-4: the gradient of -log p('Tom') reaching each word (one backward pass)",
        "ko": "그림 6-4: -log p('Tom')의 기울기가 각 단어에 도달한 크기 (역전파 한 번)",
    },
    "6-4.sentence.title": {
        "en": "Figure 6-4: the sentence, each word coloured by the gradient that reached it",
        "ko": "그림 6-4: 문장의 각 단어를 그 단어에 도달한 기울기로 칠했다",
    },
    "6-4.x": {"en": "input word (read left to right)", "ko": "입력 단어 (왼쪽부터 읽음)"},
    "6-4.y": {"en": "||dL/dx_t|| (log scale)", "ko": "||dL/dx_t|| (로그 눈금)"},
    "6-4.rnn": {"en": "tanh RNN, ρ(W_h) = {radius}", "ko": "tanh RNN, ρ(W_h) = {radius}"},
    "6-4.rnn_default": {
        "en": "tanh RNN, default init (ρ = {radius:.2f})",
        "ko": "tanh RNN, 기본 초기화 (ρ = {radius:.2f})",
    },
    "6-4.lstm": {"en": "LSTM, forget bias {bias:g}", "ko": "LSTM, 망각 게이트 편향 {bias:g}"},
    "6-4.attention": {"en": "tanh RNN (ρ = {radius}) + attention", "ko": "tanh RNN (ρ = {radius}) + 어텐션"},
    # 6-7
    "6-7.title": {
        "en": "Figure 6-7: backprop through MatMul only, g ← g W_hᵀ for {T} steps (W_h Gaussian, scaled to ρ)",
        "ko": "그림 6-7: MatMul만 거치는 역전파, {T} 스텝 동안 g ← g W_hᵀ (W_h는 가우시안, 반경 ρ로 조정)",
    },
    "6-7.gain.title": {"en": "the gain of one step fluctuates", "ko": "한 스텝의 배율은 들쭉날쭉하다"},
    "6-7.gain.y": {"en": "gain of one step ||g W_hᵀ|| / ||g||", "ko": "한 스텝의 배율 ||g W_hᵀ|| / ||g||"},
    "6-7.product.title": {"en": "the product follows ρ^k", "ko": "곱은 ρ^k를 따른다"},
    "6-7.product.y": {
        "en": "||g after k steps|| / ||g|| (log scale)",
        "ko": "k 스텝 뒤의 ||g|| / 처음 ||g|| (로그 눈금)",
    },
    "6-7.x": {"en": "steps walked back k", "ko": "거슬러 올라간 스텝 수 k"},
    "6-7.run": {"en": "ρ(W_h) = {radius}", "ko": "ρ(W_h) = {radius}"},
    "6-7.guide": {"en": "ρ^k (dashed)", "ko": "ρ^k (점선)"},
    "6-7.long.title": {
        "en": "Figure 6-7, T = {T} in float32: the gradient overflows to inf, then NaN, or sinks to the smallest float",
        "ko": "그림 6-7, float32로 T = {T}: 기울기가 inf로 넘친 뒤 NaN이 되거나, 가장 작은 float까지 가라앉는다",
    },
    "6-7.long.y": {"en": "||dL/dh_(T-k)|| (log scale)", "ko": "||dL/dh_(T-k)|| (로그 눈금)"},
    "6-7.inf": {"en": "inf from k = {k}", "ko": "k = {k}부터 inf"},
    "6-7.nan": {"en": "NaN from k = {k}", "ko": "k = {k}부터 NaN"},
    "6-7.zero": {"en": "exactly 0 from k = {k}", "ko": "k = {k}부터 정확히 0"},
    "6-7.floor": {
        "en": "float32's smallest numbers from k = {k}",
        "ko": "k = {k}부터 float32의 가장 작은 수",
    },
    "6-7.graph.title": {
        "en": "Figure 6-7: only MatMul nodes, W_h scaled to ρ = {radius}, {T} steps",
        "ko": "그림 6-7: MatMul 노드만, W_h의 반경 ρ = {radius}, {T} 스텝",
    },
    "6-7.graph.gains": {
        "en": "under each node: the gain of the step back through it",
        "ko": "노드 아래: 그 노드를 거슬러 지날 때의 배율",
    },
    # tanh
    "tanh.title": {
        "en": "tanh' ≤ 1: every tanh node on the way back shrinks the gradient",
        "ko": "tanh' ≤ 1: 거슬러 가며 만나는 tanh 노드마다 기울기가 줄어든다",
    },
    "tanh.y": {"en": "y = tanh(x)", "ko": "y = tanh(x)"},
    "tanh.dy": {"en": "dy/dx = 1 - y² (from backward)", "ko": "dy/dx = 1 - y² (역전파로 구함)"},
    # seq2seq
    "seq2seq.title": {
        "en": "Seq2Seq: the trained encoder's states and the context vector h_T, short against long input",
        "ko": "Seq2Seq: 학습한 인코더의 상태와 맥락 벡터 h_T, 짧은 입력과 긴 입력",
    },
    "seq2seq.panel": {"en": "{q!r} ({n} letters): answers {a!r}", "ko": "{q!r} ({n}글자): 답 {a!r}"},
    "seq2seq.rows": {"en": "encoder step (input letter)", "ko": "인코더 스텝 (입력 글자)"},
    "seq2seq.context": {"en": "context h_T", "ko": "맥락 벡터 h_T"},
    "seq2seq.unit": {"en": "hidden unit", "ko": "은닉 유닛"},
    "seq2seq.value": {"en": "state value", "ko": "상태 값"},
    "seq2seq.acc.title": {"en": "test accuracy by input length", "ko": "입력 길이별 테스트 정확도"},
    "seq2seq.acc.x": {"en": "letters in the input", "ko": "입력 글자 수"},
    "seq2seq.acc.y": {"en": "words reversed exactly (%)", "ko": "정확히 뒤집은 단어 (%)"},
    "seq2seq.graph.title": {
        "en": "Seq2Seq: the encoder hands the decoder one vector, its last state h_T",
        "ko": "Seq2Seq: 인코더는 디코더에 벡터 하나, 마지막 상태 h_T만 넘긴다",
    },
    "encoder": {"en": "encoder", "ko": "인코더"},
    "decoder": {"en": "decoder", "ko": "디코더"},
    "loss": {"en": "loss", "ko": "손실"},
    # 8-18
    "8-18.title": {
        "en": "Figure 8-18: the decoder with attention, {T} steps of a real AttentionSeq2Seq",
        "ko": "그림 8-18: 어텐션을 갖춘 디코더, 실제 AttentionSeq2Seq의 {T} 스텝",
    },
    "attention": {"en": "Attention", "ko": "어텐션"},
    "8-18.hs": {"en": "encoder states hs", "ko": "인코더 상태 hs"},
    # table 3, transformer
    "table3.title": {
        "en": "Table 3 (Galassi et al.): the ten scores and the attention each learned on {on}",
        "ko": "표 3 (Galassi 외): 열 가지 점수 함수와 각각이 {on}에서 학습한 어텐션",
    },
    "table3.note": {"en": "{params:,} parameters, acc {acc:.2f} %", "ko": "매개변수 {params:,}개, 정확도 {acc:.2f} %"},
    "query.answer": {"en": "query: letter of the answer", "ko": "쿼리: 답의 글자"},
    "key.input": {"en": "key: letter of the input", "ko": "키: 입력의 글자"},
    "query.input": {"en": "query: letter of the input", "ko": "쿼리: 입력의 글자"},
    "weight": {"en": "attention weight", "ko": "어텐션 가중치"},
    "transformer.title": {
        "en": "Transformer (1 layer, 4 heads, d = 32) after {steps} steps on reversal ({acc:.1f} %): {word!r}",
        "ko": "트랜스포머 (층 1, 헤드 4, d = 32), 뒤집기 {steps} 스텝 학습 후 ({acc:.1f} %): {word!r}",
    },
    "transformer.head": {"en": "encoder self-attention\nhead {h}", "ko": "인코더 셀프 어텐션\n헤드 {h}"},
    "transformer.cross": {"en": "decoder cross-attention\nmean of the heads", "ko": "디코더 교차 어텐션\n헤드 평균"},
}


def word(key: str, lang: str = "en", **fields) -> str:
    """The picture text `key` in `lang` ('en' or 'ko'), filled with `fields`."""
    entry = WORDS[key]
    return entry.get(lang, entry["en"]).format(**fields)

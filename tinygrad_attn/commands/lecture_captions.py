"""The captions of the lecture's figures, in English and in Korean (the lecture's language).

`caption(fig, numbers, lang)` fills a figure's caption with the numbers its computation returned
(`lecture_figures.FIGURES[fig](...)`): a caption never quotes a number it did not measure.
"""

from __future__ import annotations

LANGS = ("en", "ko")

TITLES = {
    "6-2": {"en": "Figure 6-2: the RNN layer's computation graph", "ko": "그림 6-2: RNN 계층의 계산 그래프"},
    "6-4": {"en": "Figure 6-4: the gradient that reaches each word", "ko": "그림 6-4: 각 단어에 도달하는 기울기"},
    "6-7": {"en": "Figure 6-7: backprop through MatMul only", "ko": "그림 6-7: MatMul 노드만 거치는 역전파"},
    "tanh": {"en": "tanh' ≤ 1", "ko": "tanh' ≤ 1"},
    "seq2seq": {"en": "Seq2Seq and its context vector", "ko": "Seq2Seq와 맥락 벡터"},
    "8-18": {"en": "Figure 8-18: the decoder with attention", "ko": "그림 8-18: 어텐션을 갖춘 디코더"},
    "table3": {"en": "Table 3: the ten score functions", "ko": "표 3: 열 가지 점수 함수"},
    "transformer": {"en": "The Transformer's self-attention", "ko": "트랜스포머의 셀프 어텐션"},
}

TEXT = {
    "6-2": {
        "en": (
            "Figure 6-2, drawn by the library: one tanh RNN layer run for T={T} steps in the lecture's "
            "per-step form, h_t = tanh(h_(t-1) W_h + x_t W_x + b). Each step (a box t=1..{T}, left to right) has "
            "its own two MatMul nodes ({matmuls} in all); the states are named h_1..h_{T} as in the lecture, the "
            "initial state h_0. The colours show the gradient of L = sum(h_{T}) that reached each node in one "
            "backward pass: ||dL/dh_t|| = {grad_h} for t = 1..{T}. W_h, W_x and b are shared by all steps, so "
            "their gradients are sums over the steps. The explorer page fig6_2_explore.html replays the backward "
            "pass node by node, with the numbers."
        ),
        "ko": (
            "그림 6-2를 라이브러리가 직접 그렸다. tanh RNN 계층 하나를 강의의 스텝별 형태 "
            "h_t = tanh(h_(t-1) W_h + x_t W_x + b)로 T={T} 스텝 펼쳤다. 각 스텝(왼쪽에서 오른쪽으로 t=1..{T} "
            "상자)마다 MatMul 노드가 두 개씩(모두 {matmuls}개) 있고, 상태의 이름은 강의처럼 h_1..h_{T}, 초기 "
            "상태는 h_0이다. 색은 L = sum(h_{T})에서 한 번 역전파했을 때 각 노드에 도달한 기울기의 크기이다: "
            "t = 1..{T}에서 ||dL/dh_t|| = {grad_h}. W_h, W_x, b는 모든 스텝이 공유하므로 그 기울기는 스텝별 "
            "기울기의 합이다. 탐색기 페이지 fig6_2_explore.html에서 역전파를 노드 하나씩, 숫자와 함께 다시 볼 "
            "수 있다."
        ),
    },
    "6-4": {
        "en": (
            "Figure 6-4: the sentence 'Tom was watching TV in his room. Mary came into the room. Mary said hi "
            "to ?' in a word vocabulary ({vocab_size} words), the answer 'Tom'. One backward pass of -log p(Tom) "
            "through an untrained model; the y axis (log scale) is the norm of the gradient that reaches each "
            "word's embedding, ||dL/dx_t||. Plain tanh RNN with W_h rescaled to spectral radius {radius}: the "
            "gradient at 'Tom' is {rnn:.1e} times the one at 'to': it vanishes, the lecture's point. (With the "
            "default initialisation, spectral radius {default_radius:.2f} for this seed, the ratio is "
            "{rnn_default:.2g}; with a larger radius it can grow instead, see figure 6-7: vanishing depends on "
            "W_h and on tanh'.) LSTM with forget-gate bias {forget_bias:g}: the cell state carries the gradient "
            "back, ratio {lstm:.2f} (with bias 0 it is {lstm_bias0:.2g}). The same tanh RNN with attention from "
            "its last state over all its states: every state has a direct path to the loss, ratio {attention:.2f}."
        ),
        "ko": (
            "그림 6-4: 단어 단위 어휘({vocab_size}개 단어)로 나타낸 문장 'Tom was watching TV in his room. "
            "Mary came into the room. Mary said hi to ?'와 정답 'Tom'. 학습하지 않은 모델에서 -log p(Tom)을 "
            "한 번 역전파하여, 각 단어의 임베딩에 도달한 기울기의 크기 ||dL/dx_t||를 y축(로그 눈금)에 "
            "나타냈다. W_h의 스펙트럼 반경을 {radius}로 맞춘 기본 tanh RNN에서는 'Tom'에 도달한 기울기가 "
            "'to'에 도달한 기울기의 {rnn:.1e}배이다. 기울기가 소실되며, 이것이 강의의 요점이다. (이 시드의 "
            "기본 초기화는 스펙트럼 반경이 {default_radius:.2f}이고 비율은 {rnn_default:.2g}이다. 반경이 더 "
            "크면 오히려 커질 수도 있다(그림 6-7 참고). 기울기 소실은 W_h와 tanh'에 달려 있다.) 망각 게이트 "
            "편향이 {forget_bias:g}인 LSTM에서는 기억 셀이 기울기를 뒤로 전달하여 비율이 {lstm:.2f}이다(편향이 "
            "0이면 {lstm_bias0:.2g}). 같은 tanh RNN에 마지막 상태로 모든 상태를 보는 어텐션을 더하면 모든 "
            "상태가 손실로 가는 직접 경로를 가지므로 비율이 {attention:.2f}이다."
        ),
    },
    "6-7": {
        "en": (
            "Figure 6-7: backprop through the MatMul nodes only (no tanh): each step multiplies the gradient by "
            "W_h^T. W_h = rho Q with Q a random orthogonal 8x8 matrix, so every singular value is rho and each "
            "step scales the gradient's norm by exactly rho: the measured gain per step is {g_lo:.3f}, {g_one:.3f} "
            "and {g_hi:.3f} for rho = {r_lo}, {r_one} and {r_hi}. After {T} steps the product is {p_lo:.3g}, "
            "{p_one:.3g} and {p_hi:.3g}: below 1 the gradient vanishes, above 1 it explodes, geometrically. The "
            "norms are read from the engine's record of the backward pass (ta.record_backward). The graph shows "
            "four such steps: only MatMul nodes between h_0 and h_4, the gradient growing by {r_hi} per step on "
            "its way back to h_0."
        ),
        "ko": (
            "그림 6-7: MatMul 노드만 거치는 역전파(tanh 없음). 스텝마다 기울기에 W_h^T가 곱해진다. W_h = rho Q"
            "(Q는 무작위 8x8 직교 행렬)이므로 모든 특잇값이 rho이고, 한 스텝마다 기울기의 크기가 정확히 "
            "rho배가 된다. 측정한 스텝당 배율은 rho = {r_lo}, {r_one}, {r_hi}일 때 각각 {g_lo:.3f}, "
            "{g_one:.3f}, {g_hi:.3f}이다. {T} 스텝 뒤의 곱은 {p_lo:.3g}, {p_one:.3g}, {p_hi:.3g}이다. 1보다 "
            "작으면 기울기가 지수적으로 소실되고, 1보다 크면 지수적으로 폭발한다. 크기는 엔진이 기록한 역전파"
            "(ta.record_backward)에서 읽었다. 그래프는 이런 스텝 네 개를 보여 준다. h_0과 h_4 사이에는 MatMul "
            "노드만 있고, 기울기는 h_0으로 돌아가는 동안 스텝마다 {r_hi}배씩 커진다."
        ),
    },
    "tanh": {
        "en": (
            "tanh and its derivative, the derivative taken from the engine's backward pass: dy/dx = 1 - y^2 is "
            "at most {max:.3f} (at x = 0) and falls fast: {t1:.2f} at x = 1, {t2:.3f} at x = 2. Backprop through "
            "a tanh node multiplies the gradient by this number, so T tanh nodes in a row multiply it by T factors "
            "of at most 1. Together with W_h^T (figure 6-7) this is why the plain RNN's gradient vanishes."
        ),
        "ko": (
            "tanh 함수와 그 도함수. 도함숫값은 엔진의 역전파로 구했다. dy/dx = 1 - y^2의 최댓값은 {max:.3f}(x = 0)"
            "이고 x가 0에서 멀어지면 빠르게 작아진다: x = 1에서 {t1:.2f}, x = 2에서 {t2:.3f}. tanh 노드를 "
            "역전파하면 기울기에 이 값이 곱해지므로, tanh 노드 T개를 차례로 지나면 1 이하인 값 T개가 곱해진다. "
            "W_h^T(그림 6-7)와 함께 이것이 기본 RNN에서 기울기가 소실되는 이유이다."
        ),
    },
    "seq2seq": {
        "en": (
            "Seq2Seq (the book's chapter 7): an LSTM encoder (H={hidden}, weights at initialisation) reads the "
            "date {question!r} one character at a time; each row of the top panel is its state after that "
            "character. The decoder receives only the last row, the context vector h_T (bottom panel, norm "
            "{norm:.3g}): one vector of fixed length, however long the input. The graph (a small Seq2Seq, encoder "
            "and decoder collapsed into one box each) shows the same thing: a single edge from the encoder to the "
            "decoder."
        ),
        "ko": (
            "Seq2Seq(책의 7장): LSTM 인코더(H={hidden}, 학습 전 가중치)가 날짜 {question!r}의 글자를 하나씩 "
            "읽는다. 위 패널의 각 행은 그 글자를 읽은 뒤의 상태이다. 디코더가 받는 것은 마지막 행인 맥락 벡터 "
            "h_T(아래 패널, 크기 {norm:.3g}) 하나뿐이다. 입력이 아무리 길어도 길이가 고정된 벡터 하나이다. "
            "그래프(작은 Seq2Seq 모델에서 인코더와 디코더를 각각 상자 하나로 접어서 그림)도 같은 것을 보여 "
            "준다. 인코더에서 디코더로 가는 간선은 하나뿐이다."
        ),
    },
    "8-18": {
        "en": (
            "Figure 8-18 (Deep Learning from Scratch 2): the decoder with an attention layer, drawn from a real "
            "AttentionSeq2Seq (the dates' vocabulary, word vectors of 4, H = 4, one question). The encoder, the "
            "decoder LSTM and the attention layer are one box each (their clusters collapsed). The attention box "
            "takes all the encoder's states and the decoder's states; its output, the context vectors, is "
            "concatenated with the decoder's states before the output layer (Affine), as in the figure. The "
            "second picture opens the attention box: scores = h_dec hs_enc^T (MatMul), Softmax over the input "
            "positions, weights times hs_enc (MatMul). Colours: the gradient of the loss ({loss:.3g}) that reached "
            "each node."
        ),
        "ko": (
            "그림 8-18(밑바닥부터 시작하는 딥러닝 2): 어텐션 계층을 갖춘 디코더를 실제 AttentionSeq2Seq "
            "모델(날짜 데이터의 어휘, 단어 벡터 4, H = 4, 질문 하나)에서 그렸다. 인코더, 디코더 LSTM, 어텐션 "
            "계층을 각각 상자 하나로 접었다. 어텐션 상자는 인코더의 모든 상태와 디코더의 상태를 받고, 그 "
            "출력인 맥락 벡터는 그림과 같이 출력층(Affine) 앞에서 디코더의 상태와 연결(Concat)된다. 두 번째 "
            "그림은 어텐션 상자를 연 것이다: 점수 = h_dec hs_enc^T(MatMul), 입력 위치에 대한 Softmax, 가중치와 "
            "hs_enc의 곱(MatMul). 색은 손실({loss:.3g})의 기울기가 각 노드에 도달한 크기이다."
        ),
    },
    "table3": {
        "en": (
            "Table 3 of Galassi et al.: the ten compatibility functions, each panel with its formula, its number "
            "of parameters at H = 256 and the attention it learned on one example (rows: the answer it generated, "
            "columns: the input as written; the date model reads it reversed). {source} A useful map is "
            "a sharp path: each output character looks at the input characters it is made from. A flat map means "
            "the score could not make a peaked softmax or could not tell the inputs apart by content."
        ),
        "ko": (
            "Galassi 외의 표 3: 열 가지 호환성(점수) 함수. 각 패널에 수식, H = 256일 때의 매개변수 수, 그리고 "
            "예제 하나에서 학습한 어텐션을 나타냈다(행: 생성한 답, 열: 쓰인 그대로의 입력. 날짜 모델은 "
            "입력을 거꾸로 읽는다). {source} 쓸모 있는 어텐션 맵은 뚜렷한 경로이다. 출력 글자마다 자신을 "
            "만드는 입력 글자를 본다. 맵이 평평하다면 그 점수 함수가 뾰족한 소프트맥스를 만들지 못했거나, "
            "입력을 내용으로 구별하지 못한 것이다."
        ),
    },
    "transformer": {
        "en": (
            "The Transformer's attention: a Transformer with one layer and 4 heads (d_model 32), trained here for "
            "{steps} steps to reverse strings of letters (test accuracy {acc:.0%}), run on the test word {word!r} "
            "(it answers {answer!r}). The first four panels are the encoder's self-attention, one per head: every "
            "letter attends to every letter of the same sequence in one step, with no chain of W_h^T and tanh' "
            "between distant positions. The last panel is the decoder's cross-attention averaged over the heads: "
            "the i-th output letter looks at the i-th letter from the end, the anti-diagonal."
        ),
        "ko": (
            "트랜스포머의 어텐션: 층 하나, 헤드 4개(d_model 32)인 트랜스포머를 문자열 뒤집기로 {steps} 스텝 "
            "학습하고(테스트 정확도 {acc:.0%}), 테스트 단어 {word!r}에 적용했다(답: {answer!r}). 앞의 네 "
            "패널은 인코더의 셀프 어텐션으로, 헤드마다 하나씩이다. 각 글자가 같은 시퀀스의 모든 글자를 한 "
            "번에 보므로, 멀리 떨어진 위치 사이에 W_h^T와 tanh'의 사슬이 없다. 마지막 패널은 헤드 평균을 낸 "
            "디코더의 교차 어텐션이다. i번째 출력 글자가 끝에서 i번째 글자를 보는 반대각선이 나타난다."
        ),
    },
}

SOURCE = {
    "study": {
        "en": (
            "The maps of {names} come from the study's JSON files (examples/score_study.py, the book's dates, "
            "seed 0, docs/models/scores), on the date {date!r}."
        ),
        "ko": (
            "{names}의 맵은 점수 함수 비교 실험의 JSON 파일(examples/score_study.py, 책의 날짜 데이터, 시드 0, "
            "docs/models/scores)에서 읽었고, 날짜 {date!r}에 대한 것이다."
        ),
    },
    "trained": {
        "en": (
            "{names}: not in the study's files, so trained here briefly on reversing letter strings ({steps} "
            "steps each, hidden size 32; not the study, not dates), shown on the word {word!r}."
        ),
        "ko": (
            "{names}: 비교 실험의 파일에 없어서 여기서 문자열 뒤집기 과제로 짧게 학습했다(각 {steps} 스텝, 은닉 "
            "크기 32. 비교 실험의 결과도, 날짜 데이터도 아님). 단어 {word!r}에 대한 맵이다."
        ),
    },
}


def _fields(fig, n, lang):
    """The caption's named numbers from a figure's result dict."""
    if fig == "6-2":
        return {"T": n["T"], "matmuls": n["matmuls"], "grad_h": ", ".join(f"{g:.3g}" for g in n["grad_h"])}
    if fig == "6-4":
        return {
            **n["tom_over_to"],
            "vocab_size": n["vocab_size"],
            "radius": n["radius"],
            "default_radius": n["default_radius"],
            "forget_bias": n["forget_bias"],
        }
    if fig == "6-7":
        (r_lo, g_lo), (r_one, g_one), (r_hi, g_hi) = n["gain"].items()
        p_lo, p_one, p_hi = n["product"].values()
        return dict(
            T=n["T"], r_lo=r_lo, r_one=r_one, r_hi=r_hi, g_lo=g_lo, g_one=g_one, g_hi=g_hi, p_lo=p_lo, p_one=p_one,
            p_hi=p_hi,
        )  # fmt: skip
    if fig == "tanh":
        return {"max": n["max_derivative"], "t1": n["at"]["1.0"], "t2": n["at"]["2.0"]}
    if fig == "seq2seq":
        return {"hidden": n["hidden"], "question": n["question"], "norm": n["context_norm"]}
    if fig == "8-18":
        return {"loss": n["loss"]}
    if fig == "table3":
        parts = []
        if n["from_study"]:
            parts.append(SOURCE["study"][lang].format(names=", ".join(n["from_study"]), date=n["date"]))
        trained = [s for s in n["parameters"] if s not in n["from_study"]]
        if trained:
            names = ", ".join(trained)
            parts.append(SOURCE["trained"][lang].format(steps=n["trained_steps"], names=names, word=n["word"]))
        return {"source": " ".join(parts)}
    if fig == "transformer":
        return {"steps": n["steps"], "acc": n["accuracy"], "word": n["word"], "answer": n["answer"]}
    raise KeyError(fig)


def caption(fig: str, numbers: dict, lang: str = "en") -> str:
    """The caption of figure `fig` in `lang` ('en' or 'ko'), filled with that figure's numbers."""
    if lang not in LANGS:
        raise ValueError(f"lecture: language must be one of {LANGS}, got {lang!r}")
    return TEXT[fig][lang].format(**_fields(fig, numbers, lang))

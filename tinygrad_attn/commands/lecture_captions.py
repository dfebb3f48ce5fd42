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
    "transformer": {"en": "The Transformer's attention", "ko": "트랜스포머의 어텐션"},
}

TEXT = {
    "6-2": {
        "en": (
            "Figure 6-2 as the book draws it, computed by the engine: one tanh RNN step, "
            "h_t = tanh(h_(t-1) W_h + x_t W_x + b), then the layer unrolled over T={T} steps. h_(t-1) enters from "
            "the left, x_t from below, h_t leaves to the right into the next step; each step has its own two MatMul "
            "nodes (h_(t-1)W_h and x_tW_x, {matmuls} in all) and draws W_h once. Every node is filled by the "
            "gradient its output received in one recorded backward pass of L = sum(h_{T}) (ta.record_backward); "
            "W_h, W_x and b are shared by all steps, and each step's boxes show the part of their gradient that "
            "step contributed. ||dL/dh_t|| = {grad_h} for t = 1..{T}, {grad_h0} at h_0; the inputs x_1..x_{T} "
            "receive {grad_x}: the farther back, the less. The explorer page fig6_2_explore.html replays the same "
            "backward pass node by node, with the numbers."
        ),
        "ko": (
            "책의 그림 6-2를 엔진이 계산한 값으로 그렸다. tanh RNN의 한 스텝 "
            "h_t = tanh(h_(t-1) W_h + x_t W_x + b)과, 이 계층을 T={T} 스텝으로 펼친 모습이다. h_(t-1)은 왼쪽에서, "
            "x_t는 아래에서 들어오고 h_t는 오른쪽으로 나가 다음 스텝으로 간다. 스텝마다 MatMul 노드가 두 개씩 "
            "(h_(t-1)W_h와 x_tW_x, 모두 {matmuls}개) 있고 W_h는 한 번만 그렸다. 각 노드의 색은 L = sum(h_{T})을 "
            "한 번 역전파하며 기록한(ta.record_backward) 기울기, 곧 그 노드의 출력에 도달한 기울기의 크기이다. "
            "W_h, W_x, b는 모든 스텝이 공유하며, 각 스텝의 상자는 그 스텝이 보탠 몫을 보여 준다. t = 1..{T}에서 "
            "||dL/dh_t|| = {grad_h}, h_0에서는 {grad_h0}이고, 입력 x_1..x_{T}에는 {grad_x}가 도달한다. 멀리 "
            "거슬러 갈수록 작다. 탐색기 페이지 fig6_2_explore.html에서 같은 역전파를 노드 하나씩, 숫자와 함께 "
            "다시 볼 수 있다."
        ),
    },
    "6-4": {
        "en": (
            "Figure 6-4: the sentence 'Tom was watching TV in his room. Mary came into the room. Mary said hi "
            "to ?' in a word vocabulary ({vocab_size} words), the answer 'Tom'. One backward pass of -log p(Tom) "
            "through an untrained model; the first picture plots the norm of the gradient that reaches each "
            "word's embedding, ||dL/dx_t|| (log scale), the second colours the words themselves by it. Plain tanh "
            "RNN with W_h rescaled to spectral radius {radius}: the gradient at 'Tom' is {rnn:.1e} times the one "
            "at 'to': it vanishes, the lecture's point. The same network with the default initialisation "
            "(spectral radius {default_radius:.2f} for this seed) keeps {rnn_default:.2g} of it: vanishing depends "
            "on W_h (figure 6-7) and on tanh'. LSTM with forget-gate bias {forget_bias:g}: the cell state carries "
            "the gradient back, ratio {lstm:.2f} (with bias 0 it is {lstm_bias0:.2g}). The radius-{radius} tanh "
            "RNN with attention from its last state over all its states: every state has a direct path to the "
            "loss, ratio {attention:.2f}."
        ),
        "ko": (
            "그림 6-4: 단어 단위 어휘({vocab_size}개 단어)로 나타낸 문장 'Tom was watching TV in his room. "
            "Mary came into the room. Mary said hi to ?'와 정답 'Tom'. 학습하지 않은 모델에서 -log p(Tom)을 "
            "한 번 역전파했다. 첫 그림은 각 단어의 임베딩에 도달한 기울기의 크기 ||dL/dx_t||(로그 눈금)를, 둘째 "
            "그림은 그 크기로 단어 자체를 칠한 것이다. W_h의 스펙트럼 반경을 {radius}로 맞춘 기본 tanh RNN에서는 "
            "'Tom'에 도달한 기울기가 'to'에 도달한 기울기의 {rnn:.1e}배이다. 기울기가 소실되며, 이것이 강의의 "
            "요점이다. 같은 신경망을 기본 초기화(이 시드에서 스펙트럼 반경 {default_radius:.2f})로 두면 "
            "{rnn_default:.2g}배가 남는다. 기울기 소실은 W_h(그림 6-7)와 tanh'에 달려 있다. 망각 게이트 편향이 "
            "{forget_bias:g}인 LSTM에서는 기억 셀이 기울기를 뒤로 전달하여 비율이 {lstm:.2f}이다(편향이 0이면 "
            "{lstm_bias0:.2g}). 반경 {radius}인 tanh RNN에 마지막 상태로 모든 상태를 보는 어텐션을 더하면 모든 "
            "상태가 손실로 가는 직접 경로를 가지므로 비율이 {attention:.2f}이다."
        ),
    },
    "6-7": {
        "en": (
            "Figure 6-7: backprop through the MatMul nodes only (no tanh): each step multiplies the gradient by "
            "W_h^T. W_h is a random Gaussian 8x8 matrix scaled to spectral radius rho. The gain of one step, "
            "||g W_h^T|| / ||g||, fluctuates (between {lo_min:.2f} and {lo_max:.2f} for rho = {r_lo}, "
            "{hi_min:.2f} and {hi_max:.2f} for rho = {r_hi}) because it depends on the direction of g; after a few "
            "steps g turns toward W_h's leading direction and the product of the gains follows rho^k: after {T} "
            "steps it is {p_lo:.3g}, {p_one:.3g} and {p_hi:.3g} for rho = {r_lo}, {r_one} and {r_hi}. Below 1 "
            "the gradient vanishes, above 1 it explodes, geometrically. The norms are read from the engine's "
            "record of the backward pass. Run for T = {T_long} steps in float32, the gradient for rho = {r_hi} "
            "overflows: {hi_long}; for rho = {r_lo} it {lo_long}. The graph draws four such steps for rho = "
            "{r_hi}: only MatMul nodes between h_0 and h_4, each one's gain written under it ({graph_gains}: "
            "over so few steps g has not yet turned, and the gains are not rho)."
        ),
        "ko": (
            "그림 6-7: MatMul 노드만 거치는 역전파(tanh 없음). 스텝마다 기울기에 W_h^T가 곱해진다. W_h는 무작위 "
            "가우시안 8x8 행렬을 스펙트럼 반경 rho로 조정한 것이다. 한 스텝의 배율 ||g W_h^T|| / ||g||는 g의 "
            "방향에 따라 달라서 들쭉날쭉하다(rho = {r_lo}일 때 {lo_min:.2f}~{lo_max:.2f}, rho = {r_hi}일 때 "
            "{hi_min:.2f}~{hi_max:.2f}). 몇 스텝이 지나면 g가 W_h의 주된 방향으로 돌아서고, 배율의 곱은 rho^k를 "
            "따른다. {T} 스텝 뒤의 곱은 rho = {r_lo}, {r_one}, {r_hi}일 때 각각 {p_lo:.3g}, {p_one:.3g}, "
            "{p_hi:.3g}이다. 1보다 작으면 기울기가 지수적으로 소실되고, 1보다 크면 지수적으로 폭발한다. 크기는 "
            "엔진이 기록한 역전파에서 읽었다. float32로 T = {T_long} 스텝을 돌리면 rho = {r_hi}의 기울기는 "
            "넘친다: {hi_long_ko}. rho = {r_lo}의 기울기는 {lo_long_ko}. 그래프는 rho = {r_hi}일 때의 네 "
            "스텝이다. h_0과 h_4 사이에는 MatMul 노드만 있고, 노드마다 그 스텝의 배율을 아래에 적었다"
            "({graph_gains}: 스텝이 이렇게 적으면 g가 아직 방향을 바꾸지 않아 배율이 rho가 아니다)."
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
            "Seq2Seq (the book's chapter 7), trained here: an LSTM encoder-decoder (H={hidden}) learns for {steps} "
            "steps to reverse words of 2 to 6 letters. The heat maps show the trained encoder's state after each "
            "letter (rows; · is padding, which it reads too) for a short word, {short_q!r}, and a long one, "
            "{long_q!r}; under each, the last state again: the context vector h_T, the only thing the decoder "
            "receives ({hidden} numbers, norm {short_norm:.2f} and {long_norm:.2f}), however long the input. The "
            "model answers {short_a!r} and {long_a!r}. The bars: the share of test words reversed exactly, by "
            "length: {by_length}. A longer word must fit into the same {hidden} numbers, and fewer come back "
            "right. The graph unrolls the same model over {long_q!r}: one edge from the encoder to the decoder, "
            "each LSTM step filled by the gradient that reached its state in one backward pass."
        ),
        "ko": (
            "Seq2Seq(책의 7장)를 여기서 학습했다. LSTM 인코더-디코더(H={hidden})가 {steps} 스텝 동안 2~6글자 "
            "단어를 뒤집는 법을 배운다. 히트맵은 학습한 인코더가 글자 하나를 읽을 때마다 갖는 상태(행, ·는 "
            "패딩이며 이것도 읽는다)이며, 짧은 단어 {short_q!r}와 긴 단어 {long_q!r}에 대한 것이다. 그 아래의 "
            "행은 마지막 상태, 곧 맥락 벡터 h_T이다. 디코더가 받는 것은 입력 길이와 상관없이 이 {hidden}개의 "
            "숫자뿐이다(크기 {short_norm:.2f}, {long_norm:.2f}). 모델의 답은 {short_a!r}, {long_a!r}이다. "
            "막대는 길이별로 정확히 뒤집은 테스트 단어의 비율이다: {by_length}. 긴 단어도 같은 {hidden}개의 "
            "숫자에 담아야 하므로 맞히는 비율이 줄어든다. 그래프는 같은 모델을 {long_q!r}에 대해 펼친 것이다. "
            "인코더에서 디코더로 가는 간선은 하나뿐이고, LSTM 스텝마다 역전파 한 번에서 그 상태에 도달한 "
            "기울기로 칠했다."
        ),
    },
    "8-18": {
        "en": (
            "Figure 8-18 (Deep Learning from Scratch 2): the decoder with an attention layer, laid out as the book "
            "does, computed by a real AttentionSeq2Seq (the dates' vocabulary, H = 8, untrained) on {question!r}, "
            "{T} decoder steps. At every step the LSTM's state goes up to the Attention layer, which also receives "
            "all the encoder's states hs; its output, the context vector, and the LSTM's state both go into the "
            "Affine layer (concatenated), then Softmax with Loss. Every box is filled by the gradient of the loss "
            "({loss:.3g}) that reached its output at that step; the encoder box by the gradient that reached hs."
        ),
        "ko": (
            "그림 8-18(밑바닥부터 시작하는 딥러닝 2): 어텐션 계층을 갖춘 디코더를 책의 배치대로, 실제 "
            "AttentionSeq2Seq 모델(날짜 데이터의 어휘, H = 8, 학습 전)로 {question!r}에 대해 디코더 {T} 스텝을 "
            "계산해 그렸다. 스텝마다 LSTM의 상태가 Attention 계층으로 올라가고, Attention 계층은 인코더의 모든 "
            "상태 hs도 받는다. 그 출력인 맥락 벡터와 LSTM의 상태가 함께(연결되어) Affine 계층으로 들어가고, "
            "이어서 Softmax with Loss로 간다. 각 상자의 색은 손실({loss:.3g})의 기울기가 그 스텝에서 상자의 "
            "출력에 도달한 크기이며, 인코더 상자는 hs에 도달한 기울기이다."
        ),
    },
    "table3": {
        "en": (
            "Table 3 of Galassi et al.: the ten compatibility functions, each panel with its formula, its number "
            "of parameters at H = 256, its test accuracy and the attention it learned on one example. Rows are "
            "the queries (the letters of the answer the model generated), columns the keys (the letters of the "
            "input as written; the date model reads it reversed). {source} A useful map is a sharp path: each "
            "output letter looks at the input letters it is made from. A flat map means the score could not make "
            "a peaked softmax or could not tell the inputs apart by content."
        ),
        "ko": (
            "Galassi 외의 표 3: 열 가지 호환성(점수) 함수. 각 패널에 수식, H = 256일 때의 매개변수 수, 테스트 "
            "정확도, 그리고 예제 하나에서 학습한 어텐션을 나타냈다. 행은 쿼리(모델이 생성한 답의 글자), 열은 "
            "키(쓰인 그대로의 입력 글자. 날짜 모델은 입력을 거꾸로 읽는다)이다. {source} 쓸모 있는 어텐션 맵은 "
            "뚜렷한 경로이다. 출력 글자마다 자신을 만드는 입력 글자를 본다. 맵이 평평하다면 그 점수 함수가 "
            "뾰족한 소프트맥스를 만들지 못했거나, 입력을 내용으로 구별하지 못한 것이다."
        ),
    },
    "transformer": {
        "en": (
            "The Transformer's attention: a Transformer with one layer and {heads} heads (d_model 32), trained "
            "here for {steps} steps to reverse strings of letters (test accuracy {acc:.1f} %), run on the test "
            "word {word!r} (it answers {answer!r}). The first {heads} panels are the encoder's self-attention, one "
            "per head: each query letter attends to every key letter of the same word in one step, with no chain "
            "of W_h^T and tanh' between distant positions. The last panel is the decoder's cross-attention "
            "averaged over the heads: the i-th letter of the answer (query) looks at the i-th letter from the end "
            "of the input (key), the anti-diagonal."
        ),
        "ko": (
            "트랜스포머의 어텐션: 층 하나, 헤드 {heads}개(d_model 32)인 트랜스포머를 문자열 뒤집기로 {steps} 스텝 "
            "학습하고(테스트 정확도 {acc:.1f} %), 테스트 단어 {word!r}에 적용했다(답: {answer!r}). 앞의 {heads} "
            "패널은 인코더의 셀프 어텐션으로, 헤드마다 하나씩이다. 쿼리 글자마다 같은 단어의 모든 키 글자를 한 "
            "번에 보므로, 멀리 떨어진 위치 사이에 W_h^T와 tanh'의 사슬이 없다. 마지막 패널은 헤드 평균을 낸 "
            "디코더의 교차 어텐션이다. 답의 i번째 글자(쿼리)가 입력의 끝에서 i번째 글자(키)를 보는 반대각선이 "
            "나타난다."
        ),
    },
}

SOURCE = {
    "shipped": {
        "en": (
            "The maps of {names} come from the score study (examples/score_study.py: the book's dates, seed 0, "
            "{epochs}), shipped with the package; they are on the date {date}."
        ),
        "ko": (
            "{names}의 맵은 점수 함수 비교 실험(examples/score_study.py: 책의 날짜 데이터, 시드 0, {epochs_ko})의 "
            "결과로, 패키지에 함께 들어 있다. 날짜 {date}에 대한 맵이다."
        ),
    },
    "study": {
        "en": (
            "The maps of {names} come from the study's JSON files given with --scores-dir (the book's dates, "
            "seed 0, {epochs}), on the date {date}."
        ),
        "ko": (
            "{names}의 맵은 --scores-dir로 준 비교 실험의 JSON 파일(책의 날짜 데이터, 시드 0, {epochs_ko})에서 "
            "읽었고, 날짜 {date}에 대한 것이다."
        ),
    },
    "trained": {
        "en": (
            "{names}: not in the study's files, so trained here briefly on reversing letter strings ({steps} "
            "steps each, hidden size 32; not the study, not dates), shown on the word {word}."
        ),
        "ko": (
            "{names}: 비교 실험의 파일에 없어서 여기서 문자열 뒤집기 과제로 짧게 학습했다(각 {steps} 스텝, 은닉 "
            "크기 32. 비교 실험의 결과도, 날짜 데이터도 아님). 단어 {word}에 대한 맵이다."
        ),
    },
}


def _long_run(n, r, lang):
    """What became of the float32 gradient for radius r over the long run, in words."""
    bad = n["long"][r]
    if lang == "en":
        if bad["inf"] is not None:
            return f"inf from k = {bad['inf']} steps back" + (f", NaN from k = {bad['nan']}" if bad["nan"] else "")
        if bad["floor"] is not None:
            return f"sinks to float32's smallest numbers (1.4e-45) from k = {bad['floor']}, where nothing is left"
        return "stays finite"
    if bad["inf"] is not None:
        return f"k = {bad['inf']} 스텝부터 inf" + (f", k = {bad['nan']}부터 NaN" if bad["nan"] else "")
    if bad["floor"] is not None:
        return f"k = {bad['floor']}부터 float32의 가장 작은 수(1.4e-45)까지 가라앉아 아무것도 남지 않는다"
    return "유한하게 남는다"


def _table3_source(n, lang):
    parts = []
    for kind in ("shipped", "study"):
        names = [s for s, src in n["source"].items() if src == kind]
        if names:
            epochs = sorted(n["epochs"][s] for s in names)
            span = f"{epochs[0]}" if epochs[0] == epochs[-1] else f"{epochs[0]} to {epochs[-1]}"
            span_ko = f"{epochs[0]}" if epochs[0] == epochs[-1] else f"{epochs[0]}~{epochs[-1]}"
            parts.append(
                SOURCE[kind][lang].format(
                    names=", ".join(names), date=", ".join(sorted({repr(n["question"][s]) for s in names})),
                    epochs=f"{span} epochs", epochs_ko=f"{span_ko} 에포크",
                )
            )  # fmt: skip
    trained = [s for s, src in n["source"].items() if src == "trained"]
    if trained:
        words = ", ".join(sorted({repr(n["question"][s]) for s in trained}))
        parts.append(SOURCE["trained"][lang].format(steps=n["trained_steps"], names=", ".join(trained), word=words))
    return " ".join(parts)


def _fields(fig, n, lang):
    """The caption's named numbers from a figure's result dict."""
    g3 = lambda xs: ", ".join(f"{g:.3g}" for g in xs)  # noqa: E731
    if fig == "6-2":
        return {"T": n["T"], "matmuls": n["matmuls"], "grad_h": g3(n["grad_h"]), "grad_h0": f"{n['grad_h0']:.3g}",
                "grad_x": g3(n["grad_x"])}  # fmt: skip
    if fig == "6-4":
        return {
            **n["tom_over_to"],
            "vocab_size": n["vocab_size"],
            "radius": n["radius"],
            "default_radius": n["default_radius"],
            "forget_bias": n["forget_bias"],
        }
    if fig == "6-7":
        r_lo, r_one, r_hi = n["product"]
        return dict(
            T=n["T"], T_long=n["T_long"], r_lo=r_lo, r_one=r_one, r_hi=r_hi,
            lo_min=n["gain_min"][r_lo], lo_max=n["gain_max"][r_lo], hi_min=n["gain_min"][r_hi],
            hi_max=n["gain_max"][r_hi], p_lo=n["product"][r_lo], p_one=n["product"][r_one], p_hi=n["product"][r_hi],
            hi_long=_long_run(n, r_hi, "en"), lo_long=_long_run(n, r_lo, "en"),
            hi_long_ko=_long_run(n, r_hi, "ko"), lo_long_ko=_long_run(n, r_lo, "ko"),
            graph_gains=", ".join(f"{g:.2f}" for g in n["graph_gains"]),
        )  # fmt: skip
    if fig == "tanh":
        return {"max": n["max_derivative"], "t1": n["at"]["1.0"], "t2": n["at"]["2.0"]}
    if fig == "seq2seq":
        by = ", ".join(f"{k}: {100 * v:.0f} %" for k, v in n["accuracy_by_length"].items())
        s, lg = n["short"], n["long"]
        return dict(
            hidden=n["hidden"], steps=n["steps"], short_q=s["question"], long_q=lg["question"], short_a=s["answer"],
            long_a=lg["answer"], short_norm=s["context_norm"], long_norm=lg["context_norm"], by_length=by,
        )  # fmt: skip
    if fig == "8-18":
        return {"loss": n["loss"], "question": n["question"], "T": n["T"]}
    if fig == "table3":
        return {"source": _table3_source(n, lang)}
    if fig == "transformer":
        return {"steps": n["steps"], "acc": 100 * n["accuracy"], "word": n["word"], "answer": n["answer"],
                "heads": n["heads"]}  # fmt: skip
    raise KeyError(fig)


def caption(fig: str, numbers: dict, lang: str = "en") -> str:
    """The caption of figure `fig` in `lang` ('en' or 'ko'), filled with that figure's numbers."""
    if lang not in LANGS:
        raise ValueError(f"lecture: language must be one of {LANGS}, got {lang!r}")
    return TEXT[fig][lang].format(**_fields(fig, numbers, lang))

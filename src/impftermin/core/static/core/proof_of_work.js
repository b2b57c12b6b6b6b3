// The proof of work (core/proof_of_work.py) starts when the page loads. A form sent before
// it is done is held and sent as soon as it is, instead of going out without the proof.
customElements.whenDefined("altcha-widget").then(() => {
  for (const widget of document.querySelectorAll("altcha-widget")) {
    const form = widget.closest("form");
    if (!form) continue;
    let held = null;
    widget.addEventListener("statechange", (event) => {
      if (event.detail.state === "verified" && held) {
        const submitter = held.submitter || undefined;
        held = null;
        // The widget writes the solution into its field after this event: send after it.
        setTimeout(() => form.requestSubmit(submitter), 0);
      }
    });
    form.addEventListener(
      "submit",
      (event) => {
        const state = widget.getState();
        if (state === "verified" || state === "error") return; // error: the server says why
        event.preventDefault();
        event.stopImmediatePropagation();
        held = { submitter: event.submitter };
        if (state !== "verifying") widget.verify();
      },
      { capture: true },
    );
  }
});

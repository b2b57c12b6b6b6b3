// The proof of work (core/proof_of_work.py) starts when the page loads. A form sent before
// it is done is held and sent as soon as it is, instead of going out without the proof;
// a form sent once is not sent again (a double click would reuse the proof).
customElements.whenDefined("altcha-widget").then(() => {
  for (const widget of document.querySelectorAll("altcha-widget")) {
    const form = widget.closest("form");
    if (!form) continue;
    let held = null;
    let sent = false;
    const send = (submitter) => {
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    };
    widget.addEventListener("statechange", (event) => {
      if (event.detail.state === "verified" && held) {
        const submitter = held.submitter;
        held = null;
        // The widget writes the solution into its field after this event: send after it.
        setTimeout(() => send(submitter), 0);
      }
    });
    form.addEventListener(
      "submit",
      (event) => {
        const state = widget.getState();
        if (sent) {
          event.preventDefault();
          event.stopImmediatePropagation();
          return;
        }
        if (state === "verified" || state === "error") {
          sent = true; // error: the time-lock goes instead, the server says the rest
          return;
        }
        event.preventDefault();
        event.stopImmediatePropagation();
        held = { submitter: event.submitter };
        if (state !== "verifying") widget.verify();
      },
      { capture: true },
    );
  }
});

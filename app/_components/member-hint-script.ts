/** The localStorage key of the signed-in hint (member-hint.tsx); a plain module, so the server layout can read it. */
export const MEMBER_HINT_KEY = 'swapmesh.signedIn';

/** Runs in the document's head, before the body is painted: marks <html data-member> when the hint is there. */
export const memberHintScript = `try{if(localStorage.getItem(${JSON.stringify(MEMBER_HINT_KEY)}))document.documentElement.dataset.member='1'}catch(e){}`;

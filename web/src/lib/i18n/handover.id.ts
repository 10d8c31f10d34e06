/** The store's handover (issue 14): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type HandoverKey = keyof typeof messages;
export default messages;

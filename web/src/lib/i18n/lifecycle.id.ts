/** Leaving, removal and the deadline (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type LifecycleKey = keyof typeof messages;
export default messages;

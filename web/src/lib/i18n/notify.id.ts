/** Notifications and sharing (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type NotifyKey = keyof typeof messages;
export default messages;

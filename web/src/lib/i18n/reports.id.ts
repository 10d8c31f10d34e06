/** Sales reports and stock tools for staff (issue 14): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type ReportsKey = keyof typeof messages;
export default messages;

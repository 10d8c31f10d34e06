/** Reviews, ratings and order history (issue 14): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {};

export type ReviewsKey = keyof typeof messages;
export default messages;
